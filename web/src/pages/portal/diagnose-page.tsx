import { PlannedPage } from '../../components/planned-page.js';

/** Not built yet: see web/README.md, "Adding a page". */
export function Page() {
  return <PlannedPage title="Diagnose and solve problems" />;
}
