import { createRouter, createWebHistory } from 'vue-router'
import { installStaff } from './staff/routes'
// The page a scanned poster opens is in the entry bundle: on a slow phone network a lazy
// chunk would cost its own round trips after the entry script has arrived.
import ReportPage from './pages/ReportPage.vue'

// /q/<token> is the URL printed on every poster; Flask answers it with this app's page.
export const router = createRouter({
  history: createWebHistory('/'),
  routes: [
    { path: '/q/:token', name: 'report', component: ReportPage, props: true },
    { path: '/h5/', name: 'home', component: () => import('./pages/HomePage.vue') },
    { path: '/h5/done', name: 'done', component: () => import('./pages/DonePage.vue') },
    { path: '/h5/follow', name: 'follow', component: () => import('./pages/FollowPage.vue') },
    { path: '/:rest(.*)*', redirect: '/h5/' },
  ],
})

installStaff(router)
