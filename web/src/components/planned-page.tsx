/** A page the navigation lists but that is not built yet. */
export function PlannedPage({ title }: { readonly title: string }) {
  return (
    <section>
      <h1>{title}</h1>
      <p>This page is not built yet. The same information is available from the API and the rekey CLI.</p>
    </section>
  );
}
