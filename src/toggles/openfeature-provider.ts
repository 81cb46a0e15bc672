import {
  type EvaluationContext,
  FlagNotFoundError,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
  TypeMismatchError,
} from '@openfeature/server-sdk';
import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import type { Toggle } from './toggle.js';
import { LogToggleSource, type ToggleSource } from './toggle-log.js';
import { compileSetting } from './toggle-setting.js';

export interface SlipwayProviderOptions {
  /** The environment's log, whose `slipway.toggles` topic the pipelines read. */
  log?: Log;
  /** Or any toggle source (the one a test sets). */
  source?: ToggleSource;
  /**
   * The toggles as declared (their variants, default and on). A flag not among them is not found. Without
   * them, any toggle set on the log resolves, with the caller's default value as its default variant.
   */
  toggles?: readonly Toggle[];
  /** How often to look for toggle changes, in ms (default 250). */
  refreshMs?: number;
}

/**
 * An OpenFeature provider for services outside pipelines: the same toggles, the same settings and the same
 * evaluation as `ctx.toggle` in a pipeline (the `targetingKey` is the record key; rules read the context's
 * fields), so a service and a pipeline give a key the same variant. Changes are picked up within
 * `refreshMs` and announced as `PROVIDER_CONFIGURATION_CHANGED`.
 *
 * @example
 * await OpenFeature.setProviderAndWait(new SlipwayToggleProvider({ log, toggles: [newPricing] }))
 * const variant = await OpenFeature.getClient().getStringValue('new-pricing', 'old', { targetingKey: customerId, currency })
 */
export class SlipwayToggleProvider implements Provider {
  readonly metadata = { name: 'slipway' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly #source: ToggleSource;
  readonly #toggles: Map<string, Toggle> | undefined;
  readonly #refreshMs: number;
  #timer: NodeJS.Timeout | undefined;
  #version = 0;

  /** Throws `SLIPWAY_USAGE` when given neither a log nor a source. */
  constructor(options: SlipwayProviderOptions) {
    const source = options.source ?? (options.log === undefined ? undefined : new LogToggleSource(options.log));
    if (source === undefined) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        "SlipwayToggleProvider needs the toggles to read: pass { log } (the environment's log) or { source } (a toggle source).",
        { details: { field: 'log' } },
      );
    }
    this.#source = source;
    this.#toggles = options.toggles === undefined ? undefined : new Map(options.toggles.map((t) => [t.name, t]));
    this.#refreshMs = options.refreshMs ?? 250;
  }

  async initialize(): Promise<void> {
    await this.#refresh();
    this.#timer = setInterval(() => {
      this.#refresh().catch((err) => this.events.emit(ProviderEvents.Error, { message: String(err) }));
    }, this.#refreshMs);
    this.#timer.unref();
  }

  async onClose(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #refresh(): Promise<void> {
    const before = this.#source.current();
    await this.#source.refresh();
    const now = this.#source.current();
    if (now.version !== this.#version) {
      this.#version = now.version;
      const changed = [...now.settings.values()].filter((c) => c.version > before.version).map((c) => c.toggle);
      if (changed.length > 0) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changed });
    }
  }

  /** The variant of `flagKey` for the context, with the toggle version in the metadata. */
  #resolve(
    flagKey: string,
    defaultVariant: string,
    context: EvaluationContext,
  ): ResolutionDetails<string> & { on: string } {
    const snapshot = this.#source.current();
    const change = snapshot.settings.get(flagKey);
    const declared = this.#toggles?.get(flagKey);
    if (this.#toggles !== undefined && declared === undefined)
      throw new FlagNotFoundError(`No toggle '${flagKey}' is declared (${[...this.#toggles.keys()].join(', ')}).`);
    const setting = change?.setting ?? null;
    const toggle = declared ?? {
      default: defaultVariant,
      on: setting?.variant ?? 'on',
      variants: [defaultVariant, setting?.variant ?? 'on', ...(setting?.fixed === undefined ? [] : [setting.fixed])],
    };
    const key = context.targetingKey ?? null;
    const variant = compileSetting(flagKey, setting, toggle)(key, context);
    return {
      value: variant,
      variant,
      reason:
        setting === null
          ? 'DEFAULT'
          : setting.fixed !== undefined
            ? 'STATIC'
            : variant === toggle.default
              ? 'DEFAULT'
              : 'TARGETING_MATCH',
      flagMetadata: {
        version: snapshot.version,
        ...(change === undefined ? {} : { changedBy: change.by, changedAt: change.at }),
      },
      on: toggle.on,
    };
  }

  async resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<string>> {
    const { on: _on, ...details } = this.#resolve(flagKey, defaultValue, context);
    return details;
  }

  /** True when the key gets the toggle's `on` variant (any variant but the default, for a toggle with two). */
  async resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    const declared = this.#toggles?.get(flagKey);
    const d = this.#resolve(flagKey, declared?.default ?? (defaultValue ? 'on' : 'off'), context);
    const value = declared === undefined ? d.variant === 'on' || d.variant === 'true' : d.variant !== declared.default;
    return {
      value,
      ...(d.variant === undefined ? {} : { variant: d.variant }),
      ...(d.reason === undefined ? {} : { reason: d.reason }),
      ...(d.flagMetadata === undefined ? {} : { flagMetadata: d.flagMetadata }),
    };
  }

  async resolveNumberEvaluation(flagKey: string): Promise<ResolutionDetails<number>> {
    throw new TypeMismatchError(
      `Toggle '${flagKey}' has string variants: read it with getStringValue or getBooleanValue.`,
    );
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string): Promise<ResolutionDetails<T>> {
    throw new TypeMismatchError(
      `Toggle '${flagKey}' has string variants: read it with getStringValue or getBooleanValue.`,
    );
  }
}
