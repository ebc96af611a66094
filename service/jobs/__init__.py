"""Jobs: long work (posters, exports, imports) run by queue consumers, and periodic work."""
