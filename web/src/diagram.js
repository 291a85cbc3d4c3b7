// bpmn-js (NavigatedViewer: pan and zoom) with crmflow's markers and overlays. A separate chunk.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import { h } from './dom.js';

export async function showDiagram(container, xml) {
  const viewer = new NavigatedViewer({ container });
  await viewer.importXML(xml);
  const canvas = viewer.get('canvas');
  canvas.zoom('fit-viewport', 'auto');
  return {
    viewer,
    has: (id) => !!viewer.get('elementRegistry').get(id),
    elements: () => viewer.get('elementRegistry').getAll(),
    mark(id, cls) {
      if (viewer.get('elementRegistry').get(id)) canvas.addMarker(id, cls);
    },
    badge(id, position, cls, text, title) {
      if (!viewer.get('elementRegistry').get(id)) return;
      viewer.get('overlays').add(id, 'cf', { position, html: h('span', { class: 'cf-badge ' + cls, title }, text) });
    },
    fit() { canvas.zoom('fit-viewport', 'auto'); },
    zoom(step) { canvas.zoom(canvas.zoom() * step); },
    destroy() { viewer.destroy(); },
  };
}
