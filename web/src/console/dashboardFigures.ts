// The figures the dashboard's cards and charts are drawn from. The router asks for them as
// soon as it knows the dashboard is opening, while the page's scripts (ECharts the largest)
// are still loading, so the first chart waits for the slower of the two, not for both in turn.
import { api } from '../api/client'
import type { StatsScope } from './scope'

function ask(query: StatsScope) {
  return {
    summary: api.GET('/api/v1/stats/summary', { params: { query } }),
    ranking: api.GET('/api/v1/stats/ranking', { params: { query: { ...query, sort: 'reported' } } }),
    trend: api.GET('/api/v1/stats/trend', { params: { query: { ...query, bucket: 'week' } } }),
  }
}

export type DashboardFigures = ReturnType<typeof ask>

let early: { key: string; asked: DashboardFigures } | null = null

/** Asks for the dashboard's figures of `query` ahead of the page (the router calls it). */
export function askEarly(query: StatsScope): void {
  early = { key: JSON.stringify(query), asked: ask(query) }
}

/** The figures of `query`: those asked early when they are of the same scope, else asked now. */
export function dashboardFigures(query: StatsScope): DashboardFigures {
  const found = early?.key === JSON.stringify(query) ? early.asked : null
  early = null // taken once: the next dashboard (a drill-down, a reload) asks afresh
  return found ?? ask(query)
}
