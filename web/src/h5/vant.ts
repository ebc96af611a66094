// Vant's shared styles once; each component's own style beside its import (tree-shaken:
// the report page carries only the components it shows).
import 'vant/es/style/base.css'
