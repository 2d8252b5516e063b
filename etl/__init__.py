"""The sync: Breezeway API client, entity specs, pipeline, loader, run bookkeeping."""
