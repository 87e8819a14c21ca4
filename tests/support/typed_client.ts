/**
 * A typed client over the types openapi-typescript generates from the served document (api.d.ts).
 *
 * tests/api/test_generated_clients.py checks it with `tsc --strict`, then compiles it and runs it
 * with node against the live API: it schedules an appointment, reads it back, lists it and counts
 * it without a token, and prints what it got as JSON. No runtime dependency beyond node: its own
 * fetch and URL. Every call is typed by the document alone; a cast or a hand-written type here
 * would hide a defect of the document.
 */
import type { components, operations, paths } from "./api";

// node's own, without @types/node.
declare const process: { argv: string[]; exitCode?: number };

type Schemas = components["schemas"];
type Method = "get" | "post" | "put" | "delete";

type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type PathParams<O> = O extends { parameters: { path?: infer V } } ? NonNullable<V> : never;
type QueryParams<O> = O extends { parameters: { query?: infer V } } ? NonNullable<V> : never;
type BodyOf<O> = O extends { requestBody?: infer R } ? NonNullable<R> : never;
type JsonBody<O> = [BodyOf<O>] extends [never]
  ? never
  : BodyOf<O> extends { content: { "application/json": infer B } }
    ? B
    : never;
type Ok<O> = O extends { responses: { 200: { content: { "application/json": infer R } } } } ? R : never;

/** What a call takes: exactly the parameters and body its operation declares. */
type Call<O> = { token?: string } & ([PathParams<O>] extends [never]
    ? { path?: never }
    : { path: PathParams<O> }) &
  ([QueryParams<O>] extends [never] ? { query?: never } : { query: QueryParams<O> }) &
  ([JsonBody<O>] extends [never] ? { body?: never } : { body: JsonBody<O> });

async function call<P extends keyof paths, M extends Method>(
  base: string,
  method: M,
  path: P,
  request: Call<Operation<P, M>>,
): Promise<Ok<Operation<P, M>>> {
  const values: Record<string, unknown> = request.path ?? {};
  const url = new URL(
    String(path).replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(values[name]))),
    base,
  );
  const query: Record<string, unknown> = request.query ?? {};
  for (const [name, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null) url.searchParams.append(name, String(item));
    }
  }
  const headers: Record<string, string> = { Accept: "application/json" };
  if (request.token !== undefined) headers.Authorization = `Bearer ${request.token}`;
  let body: string | undefined;
  if (request.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(request.body);
  }
  const response = await fetch(url, { method: method.toUpperCase(), headers, body });
  if (response.status !== 200) {
    throw new Error(`${method.toUpperCase()} ${url.pathname}: ${response.status} ${await response.text()}`);
  }
  return (await response.json()) as Ok<Operation<P, M>>;
}

// -- the contract's names, checked by the compiler -------------------------------------------

/** The operations, by the contract's operationIds. */
export type ContractOperations = Pick<
  operations,
  | "findAppointments"
  | "scheduleAppointment"
  | "updateAppointment"
  | "rescheduleAppointment"
  | "getAppointment"
  | "deleteAppointment"
  | "endAppointment"
  | "activateAppointment"
  | "addParticipantAgent"
  | "addParticipantCustomer"
  | "reassignAppointment"
  | "getParticipant"
  | "removeParticipant"
  | "countAppointments"
  | "findEligibleAppointments"
  | "countOverlappingAppointments"
  | "requestCustomerOtp"
  | "scheduleAppointmentAsCustomer"
  | "getGoogleCalendarEvent"
  | "getIcalEvent"
  | "confirmEmailService"
  | "sendTestEmail"
  | "verifyEmailService"
>;

/** The schemas, by the contract's names. */
export type ContractSchemas = Pick<
  Schemas,
  | "ScheduleAppointmentRequest"
  | "UpdateAppointmentRequest"
  | "RescheduleAppointmentRequest"
  | "AddParticipantAgentRequest"
  | "AddParticipantCustomerRequest"
  | "GetAppointmentResponse"
  | "FindAppointmentsResponsePaged"
  | "GetParticipantDetailsResponse"
  | "AppointmentActivationResponse"
  | "AppointmentCountResponse"
  | "AppointmentOverlapResponse"
  | "ServiceConfirmationRequest"
  | "EmailNotificationRequest"
>;

type FindQuery = QueryParams<operations["findAppointments"]>;

/** Paging takes numbers, and the order is asc or desc, nothing else. */
export const paging: Pick<FindQuery, "pageSize" | "pageNumber" | "sortOrder"> = {
  pageSize: 10,
  pageNumber: 1,
  sortOrder: "desc",
};
// @ts-expect-error: sortOrder is an enum of asc and desc
export const sideways: FindQuery["sortOrder"] = "sideways";

/** Path parameters are `id` and `pid`. */
export const participant: PathParams<operations["getParticipant"]> = { id: "an-appointment", pid: "a-participant" };

// -- the run ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const [base, token, applicationId, start] = process.argv.slice(2);
  const request: Schemas["ScheduleAppointmentRequest"] = {
    start,
    duration: "PT45M",
    timezone: "Europe/Berlin",
    locale: "en-GB",
    title: "Scheduled from TypeScript",
    notes: "typed by openapi-typescript",
    metadata: { client: "typescript" },
    customer: {
      name: { firstName: "Ada", lastName: "Lovelace" },
      contact: { primaryEmail: "ada@example.test" },
    },
  };
  const created: Schemas["GetAppointmentResponse"] = await call(base, "post", "/api/appointments", {
    token,
    body: request,
  });
  const fetched: Schemas["GetAppointmentResponse"] = await call(base, "get", "/api/appointments/{id}", {
    token,
    path: { id: created.id },
  });
  const page: Schemas["FindAppointmentsResponsePaged"] = await call(base, "get", "/api/appointments", {
    token,
    query: { ...paging, duration: ["PT45M"] },
  });
  // The public counts, without a token.
  const counts: Schemas["AppointmentCountResponse"][] = await call(base, "get", "/api/appointments/count", {
    query: { applicationId, start, timeFrame: "PT1H" },
  });
  const overlap: Schemas["AppointmentOverlapResponse"] = await call(
    base,
    "get",
    "/api/appointments/overlap/count",
    { query: { applicationId, start, duration: "PT45M" } },
  );
  console.log(JSON.stringify({ created, fetched, page, counts, overlap }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
