//! A small contract and a scratch directory for the generator's tests.

/// Three operations covering every kind of value the generator reads.
pub(crate) const CONTRACT: &str = r##"openapi: 3.1.0
info: { title: Fixture, version: "1" }
servers:
  - url: https://api.example.test/v1
    x-kaizala-name: api
  - url: "{endpointUrl}/v1"
    x-kaizala-name: endpoint
    variables:
      endpointUrl: { default: https://tenant.example.test }
paths:
  /things/{thingId}:
    parameters: []
    get:
      operationId: getThing
      summary: Get a thing.
      x-kaizala-server: endpoint
      x-kaizala-auth: access
      x-kaizala-scope: thing.read
      x-kaizala-retry-safe: true
      x-kaizala-body: none
      responses:
        "200": { description: The thing. }
        "429": { $ref: "#/components/responses/TooManyRequests" }
        "404": { $ref: "#/components/responses/NotFound" }
    put:
      operationId: putThing
      summary: Replace a thing [in place].
      x-kaizala-server: endpoint
      x-kaizala-auth: access
      x-kaizala-scope: thing.write
      x-kaizala-retry-safe: true
      x-kaizala-body: json
      responses:
        "200": { description: Replaced. }
  /token:
    post:
      operationId: fetchToken
      summary: Get a token.
      x-kaizala-server: api
      x-kaizala-auth: refresh
      x-kaizala-scope: null
      x-kaizala-retry-safe: false
      x-kaizala-body: json
      responses:
        "200": { description: A token. }
        "429": { $ref: "#/components/responses/TooManyRequests" }
components:
  responses:
    NotFound: { description: Not found. }
    TooManyRequests:
      description: >-
        Too many
        requests.
"##;

pub(crate) use crate::tempdir::TempDir;
