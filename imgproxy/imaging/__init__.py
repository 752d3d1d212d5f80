"""Decode, orient, resize and encode pixels with Pillow."""
