"""Resource namespaces: ``client.v1.files.upload_urls`` and friends."""
