import { hash, verify } from '@node-rs/argon2';

/**
 * argon2id at the OWASP Password Storage Cheat Sheet's first recommendation: m=19 MiB, t=2, p=1.
 * A verify costs ~14 ms on the dev machine, which is why /sessions is rate limited.
 */
// `Algorithm` is an ambient const enum (unusable under verbatimModuleSyntax); 2 is Argon2id.
const options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes a password into a self-describing PHC string. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, options);
}

/** True when `password` matches `phc`; false (never a throw) for a malformed stored hash. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}

/** A hash of a random password, verified against when the username is unknown so timing does not reveal which usernames exist. */
export const decoyPasswordHash = hash('decoy password that matches nothing', options);
