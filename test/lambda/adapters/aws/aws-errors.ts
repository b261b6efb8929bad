/** SDK-shaped service errors for mocks. */
export const awsError = (name: string, message = name, status = 400) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
export const throttled = () => awsError('ThrottlingException', 'Rate exceeded');
export const denied = () =>
  awsError('AccessDeniedException', 'User: arn:aws:sts::111111111111:assumed-role/x is not authorized', 403);
