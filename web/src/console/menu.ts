// The menu follows the caller's role: one table, read by the layout and the router guard.
import type { Schemas } from '../api/client'
import { PREVENTION, TEXT } from './messages'

type Role = Schemas['User']['role']

export interface MenuItem {
  path: string
  label: string
  roles: Role[]
}

const STAFF: Role[] = ['supervisor', 'admin', 'inspector']
// 双重预防 is read by all staff, an enterprise's officer included (their own enterprise).
const PREVENTION_STAFF: Role[] = ['supervisor', 'admin', 'inspector', 'enterprise_officer']

export const MENU: MenuItem[] = [
  { path: '/console/', label: TEXT.dashboard, roles: ['supervisor', 'admin'] },
  { path: '/console/hazards', label: TEXT.hazards, roles: STAFF },
  { path: '/console/ledger', label: TEXT.ledger, roles: ['supervisor', 'admin'] },
  { path: '/console/map', label: '一张图', roles: ['supervisor', 'admin'] },
  { path: '/console/enterprises', label: TEXT.enterprises, roles: ['admin'] },
  { path: '/console/users', label: TEXT.users, roles: ['admin'] },
  { path: '/console/points', label: PREVENTION.points, roles: PREVENTION_STAFF },
  { path: '/console/checklists', label: PREVENTION.checklists, roles: PREVENTION_STAFF },
  { path: '/console/prevention', label: PREVENTION.tasks, roles: PREVENTION_STAFF },
  { path: '/console/documents', label: TEXT.documents, roles: ['supervisor', 'admin'] },
  { path: '/console/jobs', label: TEXT.jobs, roles: ['supervisor', 'admin'] },
]

/** Who changes an enterprise's points, assessments and attachments (the API's MANAGERS in
 * service/risks/points.py; it refuses everyone else with 403). */
export function managesPoints(role: Role | undefined): boolean {
  return role === 'admin' || role === 'enterprise_officer'
}

export function menuFor(role: Role | undefined): MenuItem[] {
  return role ? MENU.filter((item) => item.roles.includes(role)) : []
}
