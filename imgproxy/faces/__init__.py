"""Finding faces and choosing the crop around them."""
