import { raw } from "hono/html";
import {
  type CategoryBarOptions,
  categoryBarChart,
  type SeriesChartOptions,
  seriesChart,
  sparkline as sparklineSvg,
} from "#shared/charts/series.ts";
import type { Html } from "./layout.ts";

/**
 * The console draws its charts with the chart module the training report uses (shared/src/charts/),
 * which escapes everything it interpolates; these only hand its markup to the page templates as is.
 */
export const lineChart = (o: SeriesChartOptions): Html => raw(seriesChart(o));
export const barChart = (o: CategoryBarOptions): Html => raw(categoryBarChart(o));
export const sparkline = (values: number[], label: string): Html => raw(sparklineSvg(values, label));
