"""Markdown chapters -> Chapter models: parsing, directives, validation and caching."""
