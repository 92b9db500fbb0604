// The app's entry: the shell element and nothing else; pages and the registry load lazily.
import './app.element.ts';
