// The tools every gateway has, whatever the tools config says.
import type { AgentTool } from './types.ts'
import { calculatorTool } from './calculator.ts'
import { currentTimeTool } from './current-time.ts'

export const BUILTIN_TOOLS: readonly AgentTool[] = [calculatorTool, currentTimeTool]
