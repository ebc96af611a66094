import { resolve } from 'node:path'
import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'

// Vant's icon font is a data: URL with a fallback on a CDN, which our CSP (and a phone
// without that network) would refuse: keep only the font that travels with the page.
function ownFontsOnly(): Plugin {
  const remote = /,\s*url\(\/\/at\.alicdn\.com[^)]*\)\s*format\("woff"\)/g
  return {
    name: 'own-fonts-only',
    enforce: 'pre',
    transform(code, id) {
      if (!id.includes('/vant/') || !id.endsWith('.css')) return null
      return code.replace(remote, '')
    },
  }
}

// One project, one page per app: h5/index.html now, console/index.html beside it later.
// Hashed files go to dist/assets/, which Flask serves with a year-long cache; the pages'
// index.html files are served without one (miniprogram_api/views/web.py).
export default defineConfig({
  plugins: [ownFontsOnly(), vue()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline script or data: module preload polyfill: our CSP allows only our own files.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: ['es2020', 'safari14', 'chrome87'],
    rollupOptions: {
      input: {
        h5: resolve(import.meta.dirname, 'h5/index.html'),
      },
    },
  },
})
