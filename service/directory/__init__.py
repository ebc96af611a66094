"""Regions, grids, enterprises (统一社会信用代码, import), users and points."""
