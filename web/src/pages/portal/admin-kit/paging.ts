import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { getJson, pathOf } from '../../../api/client.js';

/*
 * Server paging for the list pages: the first page's URL (with `$top`/`top` and the filters), then
 * each page's `@odata.nextLink`, as the server wrote it. The pages already seen are kept as a
 * stack of URLs, so "Previous" asks the server again for that exact page; nothing is loaded that
 * is not shown.
 */

export interface NextLinked<Item> {
  readonly '@odata.nextLink'?: string;
  readonly value?: readonly Item[];
}

export function useServerPages<Item>(key: string, firstUrl: string) {
  const [stack, setStack] = useState<{ first: string; urls: string[] }>({
    first: firstUrl,
    urls: [firstUrl],
  });
  // A new filter starts again at its first page.
  const urls = stack.first === firstUrl ? stack.urls : [firstUrl];
  const current = urls[urls.length - 1] ?? firstUrl;
  const query = useQuery({
    queryKey: [key, current],
    queryFn: () => getJson<NextLinked<Item>>(pathOf(current)),
    placeholderData: keepPreviousData,
  });
  const next = query.data?.['@odata.nextLink'];
  return {
    query,
    items: query.data?.value ?? [],
    pageNumber: urls.length,
    hasNext: next !== undefined,
    hasPrevious: urls.length > 1,
    next: () => {
      if (next) setStack({ first: firstUrl, urls: [...urls, next] });
    },
    previous: () => setStack({ first: firstUrl, urls: urls.slice(0, -1) }),
  };
}
