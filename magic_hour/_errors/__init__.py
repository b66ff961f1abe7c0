"""The classes of the error tree, grouped by job. Import them from :mod:`magic_hour._exceptions`."""
