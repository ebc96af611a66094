// `make web`: a .br (brotli, best quality) beside every built script, style and SVG in the
// folder given; /assets/ sends it to browsers that take brotli (a tenth fewer bytes than
// the .gz beside it on a slow phone network). Node's own zlib: nothing to install.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, constants } from 'node:zlib'

const folder = process.argv[2]
for (const name of readdirSync(folder)) {
  if (!/\.(js|css|svg)$/.test(name)) continue
  const data = readFileSync(join(folder, name))
  const packed = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  })
  writeFileSync(join(folder, `${name}.br`), packed)
}
