"""Photos: image validation and sanitizing, object storage adapters, signed links, garbage
collection.
"""
