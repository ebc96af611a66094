import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { defineConfig, type HtmlTagDescriptor, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'
import AutoImport from 'unplugin-auto-import/vite'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// Vant's icon font comes as a data: URL inside the styles, with a fallback on a CDN which
// our CSP (and a phone without that network) would refuse. The CDN goes; the font (26 KB)
// becomes a file of its own beside the styles, so the report page's styles do not carry it
// before the form can be shown: the browser fetches it when an icon is first drawn.
function ownFontsOnly(): Plugin {
  const remote = /,\s*url\(\/\/at\.alicdn\.com[^)]*\)\s*format\("woff"\)/g
  const inline = /url\(data:font\/woff2;charset=utf-8;base64,([A-Za-z0-9+/=]+)\)/g
  const folder = resolve(import.meta.dirname, 'node_modules/.cache/own-fonts')
  return {
    name: 'own-fonts-only',
    enforce: 'pre',
    transform(code, id) {
      if (!id.includes('/vant/') || !id.endsWith('.css')) return null
      return code.replace(remote, '').replace(inline, (_, base64: string) => {
        const font = Buffer.from(base64, 'base64')
        const name = `vant-icon-${createHash('sha256').update(font).digest('hex').slice(0, 12)}.woff2`
        mkdirSync(folder, { recursive: true })
        writeFileSync(resolve(folder, name), font)
        return `url("${relative(dirname(id), resolve(folder, name))}")`
      })
    },
  }
}

// The console takes only the Element Plus components (and their styles) its templates
// use: the resolvers import each <el-…> tag and ElMessage on demand, not the whole kit.
// The declaration files are kept in git so `vue-tsc` (run before vite) knows the tags.
function elementOnDemand(): Plugin[] {
  const resolvers = [ElementPlusResolver({ importStyle: 'css' })]
  return [
    AutoImport({ resolvers, dts: 'src/console/auto-imports.d.ts' }),
    Components({ resolvers, dts: 'src/console/components.d.ts', dirs: [] }),
  ]
}

// The dashboard is the page a supervisor's visit opens on: the console's HTML names its
// scripts (ECharts among them) and styles, so the browser fetches them beside the entry
// rather than after the entry has run and the router has asked for the page.
function preloadDashboard(): Plugin {
  return {
    name: 'preload-dashboard',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, { filename, bundle }) {
        if (!bundle || !filename.endsWith('console/index.html')) return
        const page = Object.values(bundle).find(
          (c) => c.type === 'chunk' && c.facadeModuleId?.endsWith('/console/pages/DashboardPage.vue'),
        )
        if (!page) return
        const scripts = new Set<string>()
        const styles = new Set<string>()
        const visit = (file: string): void => {
          const chunk = bundle[file]
          if (scripts.has(file) || chunk?.type !== 'chunk') return
          scripts.add(file)
          chunk.viteMetadata?.importedCss.forEach((css) => styles.add(css))
          chunk.imports.forEach(visit)
        }
        visit(page.fileName)
        const named = (file: string) => !html.includes(`/${file}"`) // already in the HTML
        const tags: HtmlTagDescriptor[] = [
          ...[...scripts].filter(named).map((file) => ({
            tag: 'link',
            attrs: { rel: 'modulepreload', crossorigin: true, href: `/${file}` },
            injectTo: 'head' as const, // after the entry's own, which go first
          })),
          ...[...styles].filter(named).map((file) => ({
            tag: 'link',
            attrs: { rel: 'preload', as: 'style', crossorigin: true, href: `/${file}` },
            injectTo: 'head' as const,
          })),
        ]
        return tags
      },
    },
  }
}

// One project, one page per app: h5/index.html and console/index.html.
// Hashed files go to dist/assets/, which Flask serves with a year-long cache; the pages'
// index.html files are served without one (miniprogram_api/views/web.py).
export default defineConfig({
  plugins: [ownFontsOnly(), vue(), ...elementOnDemand(), preloadDashboard()],
  base: '/',
  // Leaflet's package names its UMD build as "main"; its ES module build sits beside it.
  resolve: { alias: [{ find: /^leaflet$/, replacement: 'leaflet/dist/leaflet-src.esm.js' }] },
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
        console: resolve(import.meta.dirname, 'console/index.html'),
      },
    },
  },
})
