/**
 * Latent <-> deployable conversion, generic over the op registry: ops with a deployable form (ops/types.ts
 * DeploySpec: bconv binarises its weights and folds alpha and its BN, ops/bconv.ts) convert their tensors and
 * those of the layers they absorb; every other tensor is copied. Used by the golden model's lowering of
 * latent models and by `birealsim export`.
 */
import { opOf } from '../ops/index.ts';
import { absorption, type Model, type ParamArray } from './model.ts';

function converted(model: Model, to: 'deployable' | 'latent'): Map<string, ParamArray> {
  const net = model.net;
  const { by, absorbed } = absorption(net);
  const params = new Map<string, ParamArray>();
  const done = new Set<string>();
  const get = (name: string) => {
    const v = model.params.get(name);
    if (!v) throw new Error(`deploy: missing tensor ${name}`);
    return v;
  };
  for (const rl of net.layers) {
    const dep = opOf(rl.layer).deploy;
    if (!dep) continue;
    const abs = by.get(rl.layer.id) ?? [];
    const out = to === 'deployable' ? dep.toDeployable(rl, abs, get) : dep.toLatent(rl, abs, get);
    for (const [name, v] of Object.entries(out)) params.set(name, v);
    done.add(rl.layer.id);
    for (const a of abs) done.add(a.layer.id);
  }
  for (const [name, v] of model.params) {
    const id = name.slice(0, name.lastIndexOf('.'));
    if (done.has(id) || (to === 'deployable' && absorbed.has(id))) continue;
    params.set(name, v);
  }
  return params;
}

export function toDeployable(model: Model): Model {
  if (model.kind === 'deployable') return model;
  return { kind: 'deployable', net: model.net, params: converted(model, 'deployable'), meta: { ...model.meta } };
}

/**
 * A latent model that computes what a deployable model computes, for float (trainer / PyTorch) forward passes
 * of deployable files (see each op's DeploySpec.toLatent).
 */
export function latentEquivalent(model: Model): Model {
  if (model.kind === 'latent') return model;
  return { kind: 'latent', net: model.net, params: converted(model, 'latent'), meta: { ...model.meta, 'latent.from': 'deployable (latentEquivalent)' } };
}
