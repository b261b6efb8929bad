import { type CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Flatten a CloudFormation value the way cdk-nag names IAM5 findings (`<Logical.Attr>`, joins, imports). */
export function flattenReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  const o = node as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
    return items.map(flattenReference).join(delimiter);
  }
  if (o['Fn::Sub']) return flattenReference(o['Fn::Sub']);
  if (o['Fn::GetAtt']) {
    const [res, attr] = o['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenReference(res)}.${flattenReference(attr)}>`;
  }
  if (o['Fn::ImportValue']) return flattenReference(o['Fn::ImportValue']);
  if (o.Ref) return `<${flattenReference(o.Ref)}>`;
  return JSON.stringify(node);
}

/**
 * Acknowledge each wildcard resource of a policy for which `reasonFor` gives a
 * reason (one acknowledgement per finding, as cdk-nag 3 requires). A wildcard
 * without a reason stays a finding and fails synth.
 */
export function acknowledgeWildcards(
  policy: IConstruct,
  reasonFor: (resource: string) => string | undefined,
  actionReasonFor: (action: string) => string | undefined = () => undefined,
): void {
  const cfn = policy.node.defaultChild as CfnResource | undefined;
  if (!cfn) return;
  const doc = Stack.of(policy).resolve((cfn as unknown as { policyDocument: unknown }).policyDocument) as {
    Statement?: { Resource?: unknown; Action?: unknown }[];
  };
  const seen = new Set<string>();
  for (const st of doc.Statement ?? []) {
    const actions = (Array.isArray(st.Action) ? st.Action : [st.Action]).filter(
      (a): a is string => typeof a === 'string' && a.includes('*'),
    );
    for (const a of actions) {
      const reason = actionReasonFor(a);
      if (reason && !seen.has(`a:${a}`)) {
        seen.add(`a:${a}`);
        Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Action::${a}]`, reason });
      }
    }
    const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
    for (const r of resources.map(flattenReference).filter((x) => x.includes('*'))) {
      const reason = reasonFor(r);
      if (reason && !seen.has(r)) {
        seen.add(r);
        Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${r}]`, reason });
      }
    }
  }
}
