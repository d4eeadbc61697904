"""Archives: monthly conversation zips in the blob store, e-mail and webhook notices."""
