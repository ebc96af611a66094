"""Statistics: figures, the daily/monthly rollup, exports."""
