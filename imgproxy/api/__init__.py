"""The face-detection JSON APIs: the native one and the vendor dialects, thin adapters over one core."""
