// The staff pages: installed on the H5 router, they need a staff login; a staff member
// who scans a printed code gets the on-site page (打卡, open hazards) instead of the
// public report form.
import type { Router } from 'vue-router'
import { loggedIn, mustChangePassword, whenLoginLost } from './session'

export function installStaff(router: Router): void {
  router.addRoute({ path: '/h5/login', name: 'staff-login', component: () => import('./pages/LoginPage.vue') })
  router.addRoute({
    path: '/h5/password',
    name: 'staff-password',
    component: () => import('./pages/PasswordPage.vue'),
    meta: { staff: true },
  })
  router.addRoute({ path: '/h5/staff', name: 'staff-todo', component: () => import('./pages/TodoPage.vue'), meta: { staff: true } })
  router.addRoute({
    path: '/h5/staff/hazards/:id(\\d+)',
    name: 'staff-hazard',
    component: () => import('./pages/HazardPage.vue'),
    props: (route) => ({ id: Number(route.params.id) }),
    meta: { staff: true },
  })
  router.addRoute({
    path: '/h5/staff/tasks/:id(\\d+)',
    name: 'staff-task',
    component: () => import('./pages/TaskPage.vue'),
    props: (route) => ({ id: Number(route.params.id) }),
    meta: { staff: true },
  })
  router.addRoute({
    path: '/h5/staff/scan/:token',
    name: 'staff-scan',
    component: () => import('./pages/ScanPage.vue'),
    props: true,
    meta: { staff: true },
  })

  router.beforeEach((to) => {
    if (to.meta.staff && !loggedIn.value) return { name: 'staff-login', query: { next: to.fullPath } }
    if (to.meta.staff && mustChangePassword.value && to.name !== 'staff-password') return { name: 'staff-password' }
    if (to.name === 'staff-login' && loggedIn.value) return { name: 'staff-todo' }
    // ?public=1 keeps the public report form for a staff member who wants it
    if (to.name === 'report' && loggedIn.value && !to.query.public) {
      return { name: 'staff-scan', params: { token: to.params.token } }
    }
    return true
  })

  whenLoginLost((reason) => {
    if (reason === 'password_change_required') {
      void router.replace({ name: 'staff-password' })
      return
    }
    void router.replace({ name: 'staff-login', query: { reason, next: router.currentRoute.value.fullPath } })
  })
}
