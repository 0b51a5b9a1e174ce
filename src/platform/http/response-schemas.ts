import {
  type Static,
  type TObject,
  type TOptional,
  type TProperties,
  type TSchema,
  type TUnsafe,
  Type,
} from 'typebox';

/*
 * The building blocks of every route's `schema.response`: the two error envelopes, the empty
 * answer, and Graph's entity and collection envelopes.
 *
 * Fastify serializes a reply with the schema of its status code (fast-json-stringify), and that
 * serializer drops every property the schema does not name, coerces values to the declared type,
 * and writes required properties before optional ones. So every object a response schema
 * describes is open (`additionalProperties: true`), and a property that may be missing is never
 * declared before a required one unless the output puts it there too. The test harness checks
 * each reply against its schema, so a schema that would drop, change or reorder anything, or
 * forgets to name a property, fails a test instead of passing silently (see
 * test/support/response-contract.ts).
 */

/** An object schema that lets unnamed properties through unchanged; every response object uses it. */
export function responseObject<Properties extends TProperties>(
  properties: Properties,
  description?: string,
): TObject<Properties> {
  return Type.Object(properties, {
    additionalProperties: true,
    ...(description === undefined ? {} : { description }),
  });
}

/**
 * An array in a response. Its static type is a readonly array, so the services' readonly lists
 * fit it as they are.
 */
export function responseArray<Item extends TSchema>(item: Item) {
  return Type.Immutable(Type.Array(item));
}

/** `T` or null. */
export function nullable<T extends TSchema>(type: T) {
  return Type.Union([type, Type.Null()]);
}

/** A free-form JSON object (details whose keys depend on the error or the event). */
export const openObject = Type.Object({}, { additionalProperties: true });

/** Graph's error envelope, on `/v1.0` and Rekey's own APIs. */
export const graphErrorSchema = responseObject(
  {
    error: responseObject({
      /** Graph's code name, e.g. `Request_ResourceNotFound`. */
      code: Type.String(),
      message: Type.String(),
      innerError: responseObject({
        /** UTC, to the second, without a zone designator (as Graph writes it). */
        date: Type.String(),
        'request-id': Type.String(),
        'client-request-id': Type.String(),
        /** The catalog number (`AADSTS` without the prefix), so scripts can branch on a number. */
        aadstsCode: Type.Integer(),
        /** For 120008: the catalog code the operation ended with (the underlying cause). */
        causeCode: Type.Optional(Type.Integer()),
        /** The password operation the error is about, when there is one. */
        operationId: Type.Optional(Type.String()),
        details: Type.Optional(openObject),
      }),
    }),
  },
  'Graph error envelope; `innerError.aadstsCode` is the catalog code (see /error?code=N)',
);
export type GraphErrorBody = Static<typeof graphErrorSchema>;

/** The OAuth 2.0 / Entra token-endpoint error body. */
export const oauthErrorSchema = responseObject(
  {
    /** The OAuth error name, e.g. `invalid_grant`. */
    error: Type.String(),
    /** `AADSTS<code>: <message>`, then trace ID, correlation ID and timestamp lines. */
    error_description: Type.String(),
    error_codes: responseArray(Type.Integer()),
    /** `2026-01-02 03:04:05Z`. */
    timestamp: Type.String(),
    trace_id: Type.String(),
    correlation_id: Type.String(),
    /** Rekey's page explaining the code: `<publicUrl>/error?code=N`. */
    error_uri: Type.String(),
    /** Entra's refinement of `error`, e.g. `bad_token`: the user must sign in again. */
    suberror: Type.Optional(Type.String()),
  },
  'OAuth error body; `error_codes` holds the catalog code (see /error?code=N)',
);
export type OAuthErrorBody = Static<typeof oauthErrorSchema>;

/** Every 4xx and 5xx of a Graph-style route: the Graph error envelope. */
export const graphErrorResponses = { '4xx': graphErrorSchema, '5xx': graphErrorSchema } as const;

/** Every 4xx and 5xx of the token endpoint: the OAuth error body. */
export const oauthErrorResponses = { '4xx': oauthErrorSchema, '5xx': oauthErrorSchema } as const;

/** An answer without a body (204, or 202 without content). */
export const noContent: TUnsafe<undefined> = Type.Unsafe<undefined>({
  type: 'null',
  description: 'No content',
});

/** `@odata.context` first, then the entity's own properties: one Graph entity. */
export function graphEntitySchema<Properties extends TProperties>(
  entity: TObject<Properties>,
  description?: string,
) {
  return responseObject({ '@odata.context': Type.String(), ...entity.properties }, description);
}

/**
 * Graph's collection envelope around `item`: one page of a list. `value` is always sent; the
 * schema leaves it optional because the serializer writes required properties before optional
 * ones, and Graph's order puts `@odata.count` and `@odata.nextLink` before `value`. The static
 * type of a page is GraphCollection (graph-envelope.ts), where `value` is required.
 */
export function graphCollectionSchema<Item extends TSchema>(item: Item, description?: string) {
  return responseObject(
    {
      '@odata.context': Type.String(),
      /** On the first page only, when `$count=true` was asked. */
      '@odata.count': Type.Optional(Type.Integer()),
      /** The next page's URL, when more rows follow. */
      '@odata.nextLink': Type.Optional(Type.String()),
      value: Type.Optional(responseArray(item)),
    },
    description,
  );
}

type Selectable<Properties extends TProperties> = {
  [Key in keyof Properties]: Key extends 'id' ? Properties[Key] : TOptional<Properties[Key]>;
};

/**
 * `entity` as `$select` leaves it: `id` always, every other property optional. The property
 * order is kept, as the serializer writes named properties in schema order.
 */
export function selectableSchema<Properties extends TProperties>(
  entity: TObject<Properties>,
  description?: string,
): TObject<Selectable<Properties>> {
  const properties = Object.fromEntries(
    Object.entries(entity.properties).map(([name, type]) => [
      name,
      name === 'id' ? type : Type.Optional(type),
    ]),
  ) as Selectable<Properties>;
  return responseObject(properties, description);
}
