// Hash routes (#/zoos, #/zoo/NAME, #/train?zoo=…): a reload keeps the view, Back works.
export type ViewName = 'zoos' | 'zoo' | 'collect' | 'train' | 'generate' | 'compare' | 'export' | 'jobs';

export const VIEWS: { name: ViewName; label: string; key: string }[] = [
  { name: 'zoos', label: 'Zoos', key: '1' },
  { name: 'collect', label: 'Collect', key: '2' },
  { name: 'train', label: 'Train', key: '3' },
  { name: 'generate', label: 'Generate', key: '4' },
  { name: 'compare', label: 'Compare', key: '5' },
  { name: 'export', label: 'Export', key: '6' },
  { name: 'jobs', label: 'Jobs', key: '7' },
];

function parse(hash: string): { view: ViewName; arg: string | null; query: URLSearchParams } {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const [view, ...rest] = path.split('/');
  const known = ['zoos', 'zoo', 'collect', 'train', 'generate', 'compare', 'export', 'jobs'];
  return {
    view: (known.includes(view ?? '') ? view : 'zoos') as ViewName,
    arg: rest.length ? decodeURIComponent(rest.join('/')) : null,
    query: new URLSearchParams(search),
  };
}

export const route = $state(parse(window.location.hash));

window.addEventListener('hashchange', () => Object.assign(route, parse(window.location.hash)));

export function go(view: ViewName, arg?: string | null, query?: Record<string, string>): void {
  const q = query ? new URLSearchParams(query).toString() : '';
  window.location.hash = `#/${view}${arg ? `/${encodeURIComponent(arg)}` : ''}${q ? `?${q}` : ''}`;
}
