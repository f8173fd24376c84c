// Field resolvers of ScalingReplay: the launch source as the schema spells it, and the timeline whole or thinned to its changes.
import type { ScalingReplayResolvers } from '../generated/graphql.js';
import { changedPoints } from '../src/replay/timeline.js';

const SOURCES = { given: 'GIVEN', recorded: 'RECORDED', none: 'NONE' } as const;

export const ScalingReplay: ScalingReplayResolvers = {
  launch: (replay) => ({ ...replay.launch, source: SOURCES[replay.launch.source] }),
  timeline: (replay, { changesOnly }) => (changesOnly ? changedPoints(replay.timeline) : replay.timeline),
};
