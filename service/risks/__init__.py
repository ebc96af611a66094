"""双重预防, first half: risk points and their grading (风险分级管控)."""
