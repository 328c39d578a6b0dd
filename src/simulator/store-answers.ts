import { z } from 'zod';
import { SimulationError } from './http-client.js';

/** The store commands' answers, checked: they may come over the admin socket from another version of flowguard. */

const credentials = z.object({
  tenant: z.string(),
  is_default: z.boolean(),
  app_secret: z.string().min(1),
  phone_number_id: z.string().min(1),
  public_key_pem: z.string().includes('BEGIN PUBLIC KEY'),
});

const token = z.object({ flow_token: z.string().min(1), expires_at: z.string() });

const request = z.object({
  id: z.string(),
  reference: z.string(),
  type: z.string(),
  channel: z.string(),
  status: z.string(),
  verification: z.string().nullable(),
  error_code: z.string().nullable(),
  systems: z.array(
    z.object({ id: z.string(), status: z.string(), counts: z.record(z.string(), z.number()) }),
  ),
});

export type RequestStatus = z.infer<typeof request>;

function read<T>(schema: z.ZodType<T>, what: string, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new SimulationError(`the store answered an unexpected ${what}`);
  return parsed.data;
}

export const readCredentials = (v: unknown) => read(credentials, 'credentials answer', v);
export const readToken = (v: unknown) => read(token, 'flow token answer', v);
export const readRequest = (v: unknown) => read(request, 'request answer', v);
