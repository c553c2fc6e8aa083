// The usage of an Anthropic stream, as it accumulates: `message_start` carries input and cache
// counts; `message_delta`'s usage is cumulative and may leave input/cache fields out or null. A
// later value replaces an earlier one only when it is present and non-null — taking a missing
// field as 0, or adding instead of replacing, is how gateways have billed cached prompts several
// times over. Shared by every translator that reads an Anthropic stream.
import type { MessageDeltaUsage } from '@anthropic-ai/sdk/resources/messages'
import type { Usage } from '../../core/types.ts'
import { toGatewayUsage, type AnthropicUsageNumbers } from './translate-response.ts'

export class AnthropicStreamUsage {
  private totals: AnthropicUsageNumbers | undefined

  /** From `message_start`'s message. */
  start(usage: AnthropicUsageNumbers): void {
    this.totals = { ...usage }
  }

  /** From a `message_delta`. */
  add(usage: MessageDeltaUsage): void {
    const totals = this.totals ?? { input_tokens: 0, output_tokens: 0 }
    const late = usage as Partial<MessageDeltaUsage> & Pick<AnthropicUsageNumbers, 'cache_creation'>
    this.totals = {
      ...totals,
      input_tokens: late.input_tokens ?? totals.input_tokens,
      output_tokens: late.output_tokens ?? totals.output_tokens,
      cache_read_input_tokens: late.cache_read_input_tokens ?? totals.cache_read_input_tokens,
      cache_creation_input_tokens: late.cache_creation_input_tokens ?? totals.cache_creation_input_tokens,
      cache_creation: late.cache_creation ?? totals.cache_creation,
      output_tokens_details: late.output_tokens_details ?? totals.output_tokens_details,
    }
  }

  /** The counts as Anthropic reported them; undefined if `message_start` never came. */
  numbers(): AnthropicUsageNumbers | undefined {
    return this.totals
  }

  usage(): Usage | undefined {
    return this.totals && toGatewayUsage(this.totals)
  }
}
