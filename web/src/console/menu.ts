// The menu follows the caller's role: one table, read by the layout and the router guard.
import type { Schemas } from '../api/client'
import { TEXT } from './messages'

type Role = Schemas['User']['role']

export interface MenuItem {
  path: string
  label: string
  roles: Role[]
}

const STAFF: Role[] = ['supervisor', 'admin', 'inspector']

export const MENU: MenuItem[] = [
  { path: '/console/', label: TEXT.dashboard, roles: ['supervisor', 'admin'] },
  { path: '/console/hazards', label: TEXT.hazards, roles: STAFF },
  { path: '/console/ledger', label: TEXT.ledger, roles: ['supervisor', 'admin'] },
  { path: '/console/map', label: '一张图', roles: ['supervisor', 'admin'] },
  { path: '/console/enterprises', label: TEXT.enterprises, roles: ['admin'] },
  { path: '/console/users', label: TEXT.users, roles: ['admin'] },
  { path: '/console/documents', label: TEXT.documents, roles: ['supervisor', 'admin'] },
  { path: '/console/jobs', label: TEXT.jobs, roles: ['supervisor', 'admin'] },
]

export function menuFor(role: Role | undefined): MenuItem[] {
  return role ? MENU.filter((item) => item.roles.includes(role)) : []
}
