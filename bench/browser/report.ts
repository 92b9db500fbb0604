// Figures and medians are the same in every suite.
export { median, report, type BenchFigure } from '../figure.ts';
