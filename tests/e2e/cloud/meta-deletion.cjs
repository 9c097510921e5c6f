// Cloud Code for meta-callbacks.test.mjs: the operator's own deletion step that igauth calls
// (IGAUTH_PARSE__DELETION_FUNCTION=purgeInstagram) before its built-in action. It records each
// call in the class DeletionCall by saving through the SDK, which on parse-server 9.10 needs the
// Parse Server option directAccess: false (with the default, the router 2.3 bug makes SDK saves
// fail with "Cannot convert undefined or null to object").
Parse.Cloud.define('purgeInstagram', async (request) => {
  if (!request.master) throw new Parse.Error(Parse.Error.OPERATION_FORBIDDEN, 'master key only');
  const { instagram_id: instagramId, users, confirmation_code: code } = request.params;
  const call = new Parse.Object('DeletionCall');
  call.set('instagram_id', instagramId);
  call.set('users', users);
  call.set('confirmation_code', code);
  await call.save(null, { useMasterKey: true });
  return 'purged';
});
