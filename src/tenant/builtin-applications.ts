/** Applications every tenant has, with fixed ids so that clients can be configured once. */
export const builtinApplications = [
  { appId: '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20', displayName: 'Rekey CLI' },
  { appId: '7c3e9a14-5d2b-4f86-a1e0-3b9d8c6f2e45', displayName: 'Rekey portal' },
] as const;
