/**
 * Hangar's widget: custom elements another web app embeds, over a client instance in the page
 * (`el.client = await openRegistry()`) or a Hangar server (`server`, `token`, `namespace`
 * attributes). Importing this module defines `<hangar-models>`, `<hangar-model>`,
 * `<hangar-version>` and `<hangar-metrics-chart>`; each emits `hangar-select` when the user
 * picks a model or version. See README.md beside this file.
 * @packageDocumentation
 */
import { HangarMetricsChart } from './metrics-chart.element.ts';
import { HangarModel } from './model.element.ts';
import { HangarModels } from './models.element.ts';
import { HangarVersion } from './version.element.ts';

export { HangarElement, type SelectDetail } from './base.ts';
export { HangarMetricsChart, HangarModel, HangarModels, HangarVersion };
export type { ChartSeries, XAxis } from './chart-data.ts';
export { clientSource } from './source-client.ts';
export { serverSource, type ServerOptions } from './source-server.ts';
export type { WidgetSource, ModelSummary, ModelDetail, VersionSummary, VersionDetail, ChartPoint, Target } from './source.ts';

const elements = {
  'hangar-models': HangarModels,
  'hangar-model': HangarModel,
  'hangar-version': HangarVersion,
  'hangar-metrics-chart': HangarMetricsChart,
};

// A page may load the widget twice (a script tag and a bundle): the first definition stays.
for (const [name, element] of Object.entries(elements)) {
  if (!customElements.get(name)) customElements.define(name, element);
}

declare global {
  interface HTMLElementTagNameMap {
    'hangar-models': HangarModels;
    'hangar-model': HangarModel;
    'hangar-version': HangarVersion;
    'hangar-metrics-chart': HangarMetricsChart;
  }
}
