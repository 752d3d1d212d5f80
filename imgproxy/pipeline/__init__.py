"""Qiniu-style processing pipelines: parse `op|op|...` from the query, run the ops in order."""
