"""隐患: reporting, the workflow table, transitions (整改 → 验收 → 销号), reads, overdue."""
