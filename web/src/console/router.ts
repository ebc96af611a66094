import { createRouter, createWebHistory } from 'vue-router'
import { askEarly } from './dashboardFigures'
import { menuFor } from './menu'
import { scopeOf } from './scope'
import { session, whenExpired } from './session'

export const router = createRouter({
  history: createWebHistory('/'),
  routes: [
    { path: '/console/login', name: 'login', component: () => import('./pages/LoginPage.vue'), meta: { open: true } },
    {
      path: '/console/',
      name: 'dashboard',
      component: () => import('./pages/DashboardPage.vue'),
      // After the login and menu checks, before the page's scripts are fetched.
      beforeEnter: (to) => askEarly(scopeOf(to.query)),
    },
    { path: '/console/hazards', name: 'hazards', component: () => import('./pages/HazardsPage.vue') },
    {
      path: '/console/hazards/:id(\\d+)',
      name: 'hazard',
      component: () => import('./pages/HazardPage.vue'),
      props: (route) => ({ id: Number(route.params.id) }),
    },
    { path: '/console/ledger', name: 'ledger', component: () => import('./pages/LedgerPage.vue') },
    { path: '/console/map', name: 'map', component: () => import('./pages/MapPage.vue') },
    { path: '/console/enterprises', name: 'enterprises', component: () => import('./pages/EnterprisesPage.vue') },
    { path: '/console/users', name: 'users', component: () => import('./pages/UsersPage.vue') },
    { path: '/console/points', name: 'points', component: () => import('./pages/PointsPage.vue') },
    {
      path: '/console/points/:id(\\d+)',
      name: 'point',
      component: () => import('./pages/PointPage.vue'),
      props: (route) => ({ id: Number(route.params.id) }),
    },
    { path: '/console/checklists', name: 'checklists', component: () => import('./pages/ChecklistsPage.vue') },
    { path: '/console/prevention', name: 'prevention', component: () => import('./pages/PreventionPage.vue') },
    { path: '/console/jobs', name: 'jobs', component: () => import('./pages/JobsPage.vue') },
    { path: '/console/:rest(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue') },
  ],
})

router.beforeEach((to) => {
  if (to.meta.open || to.name === 'not-found') return true
  if (!session.token) return { name: 'login', query: { next: to.fullPath } }
  // A page outside the caller's menu is not theirs (the API would refuse it anyway).
  const items = menuFor(session.user?.role)
  const top = '/console/' + (to.path.split('/')[2] ?? '')
  if (items.some((item) => item.path === top)) return true
  if (to.name === 'dashboard' && items.length) return items[0].path
  return { name: 'not-found', params: { rest: to.path.split('/').slice(2) } }
})

whenExpired(() => {
  void router.push({ name: 'login', query: { next: router.currentRoute.value.fullPath } })
})
