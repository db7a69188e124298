"""Transit feeds (Hanoi BRT): GTFS static and GTFS-Realtime adapters, headways, a simulator."""
