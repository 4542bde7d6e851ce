import type { Kysely } from 'kysely';
import type { InstanceSettings } from '../../ports/metadata-store.js';
import type { Database } from './schema.js';

/** InstanceSettings in the `instance_settings` table, one row per name. */
export class KyselyInstanceSettings implements InstanceSettings {
  constructor(private readonly db: Kysely<Database>) {}

  async get(name: string): Promise<string | null> {
    const row = await this.db.selectFrom('instance_settings').select('value').where('name', '=', name).executeTakeFirst();
    return row?.value ?? null;
  }

  async setIfAbsent(name: string, value: string): Promise<string> {
    // The primary key decides a race; everyone then reads the winner's row.
    await this.db
      .insertInto('instance_settings')
      .values({ name, value, updated_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    return (await this.get(name))!;
  }

  async set(name: string, value: string): Promise<void> {
    await this.db
      .insertInto('instance_settings')
      .values({ name, value, updated_at: Date.now() })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: Date.now() }))
      .execute();
  }
}
