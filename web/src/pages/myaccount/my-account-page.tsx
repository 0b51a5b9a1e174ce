export function Page() {
  return <h1>My account</h1>;
}
