// Entry point of the operators' dashboard.
import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './styles/base.css';
import './styles/views.css';
import './styles/wall.css';
import './styles/chair.css';
import './styles/join.css';
import { I18nProvider } from './i18n/i18n.js';
import { Root } from './views/Root.js';

render(
  <I18nProvider>
    <Root />
  </I18nProvider>,
  document.getElementById('app')!,
);
