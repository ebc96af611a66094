// ECharts from its core with only the charts and components the console draws, on the
// canvas renderer: a fraction of the full bundle. Tooltips are drawn on the canvas too
// (renderMode 'richText'): ECharts' HTML tooltips carry inline styles our CSP refuses.
import * as echarts from 'echarts/core'
import { BarChart, LineChart, PieChart, ScatterChart } from 'echarts/charts'
import {
  GridComponent,
  LegendComponent,
  TitleComponent,
  TooltipComponent,
} from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

echarts.use([
  BarChart,
  LineChart,
  PieChart,
  ScatterChart,
  GridComponent,
  LegendComponent,
  TitleComponent,
  TooltipComponent,
  CanvasRenderer,
])

export { echarts }
export type { ECharts, EChartsCoreOption } from 'echarts/core'
