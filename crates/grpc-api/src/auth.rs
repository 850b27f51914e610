//! The `etcdserverpb.Auth` service. `Authenticate` checks a password and answers a token;
//! `AuthStatus` (etcd 3.5's) answers from the member's auth store;
//! every management RPC becomes one `auth_*` raft request made on behalf of the caller
//! (the backend refuses non-administrators, except a user reading itself or a role it
//! has, as etcd 3.4), and its answer is taken from the applied [`AuthOutcome`].

use std::sync::Arc;

use etcd_proto::etcdserverpb::{auth_server::Auth, *};
use tonic::{Request, Response, Status};

use crate::backend::{fill, AuthOutcome, Backend};
use crate::caller::caller;

pub struct AuthService {
    backend: Arc<dyn Backend>,
}

impl AuthService {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }

    /// Proposes `req` (one `auth_*` request) for the caller of `from`.
    async fn change<T>(
        &self,
        from: &Request<T>,
        req: InternalRaftRequest,
    ) -> Result<AuthOutcome, Status> {
        let who = caller(&*self.backend, from).await?;
        Ok(self.backend.auth_change(&who, req).await?)
    }
}

/// Generates the management RPCs: each wraps its request into the named field of an
/// `InternalRaftRequest` and builds its response from the outcome (`out`).
/// (A macro around the whole impl, so `async_trait` sees the expanded methods.)
macro_rules! auth_service {
    ($($method:ident($req:ty) -> $resp:ident via $field:ident { $($f:ident: $v:ident),* };)*) => {
        #[tonic::async_trait]
        impl Auth for AuthService {
            async fn authenticate(
                &self,
                req: Request<AuthenticateRequest>,
            ) -> Result<Response<AuthenticateResponse>, Status> {
                let mut resp = self.backend.authenticate(req.into_inner()).await?;
                fill(&*self.backend, &mut resp.header);
                Ok(Response::new(resp))
            }
            async fn auth_status(
                &self,
                _: Request<AuthStatusRequest>,
            ) -> Result<Response<AuthStatusResponse>, Status> {
                let (enabled, auth_revision) = self.backend.auth_status();
                let mut resp = AuthStatusResponse {
                    header: None,
                    enabled,
                    auth_revision,
                };
                fill(&*self.backend, &mut resp.header);
                Ok(Response::new(resp))
            }
            $(
                #[allow(unused_variables)]
                async fn $method(&self, req: Request<$req>) -> Result<Response<$resp>, Status> {
                    let raft_req = InternalRaftRequest {
                        $field: Some(req.get_ref().clone()),
                        ..Default::default()
                    };
                    let out = self.change(&req, raft_req).await?;
                    let mut resp = $resp { header: None, $($f: out.$v),* };
                    fill(&*self.backend, &mut resp.header);
                    Ok(Response::new(resp))
                }
            )*
        }
    };
}

auth_service! {
    auth_enable(AuthEnableRequest) -> AuthEnableResponse via auth_enable {};
    auth_disable(AuthDisableRequest) -> AuthDisableResponse via auth_disable {};
    user_add(AuthUserAddRequest) -> AuthUserAddResponse via auth_user_add {};
    user_get(AuthUserGetRequest) -> AuthUserGetResponse via auth_user_get { roles: roles };
    user_list(AuthUserListRequest) -> AuthUserListResponse via auth_user_list { users: users };
    user_delete(AuthUserDeleteRequest) -> AuthUserDeleteResponse via auth_user_delete {};
    user_change_password(AuthUserChangePasswordRequest) -> AuthUserChangePasswordResponse
        via auth_user_change_password {};
    user_grant_role(AuthUserGrantRoleRequest) -> AuthUserGrantRoleResponse via auth_user_grant_role {};
    user_revoke_role(AuthUserRevokeRoleRequest) -> AuthUserRevokeRoleResponse via auth_user_revoke_role {};
    role_add(AuthRoleAddRequest) -> AuthRoleAddResponse via auth_role_add {};
    role_get(AuthRoleGetRequest) -> AuthRoleGetResponse via auth_role_get { perm: perms };
    role_list(AuthRoleListRequest) -> AuthRoleListResponse via auth_role_list { roles: roles };
    role_delete(AuthRoleDeleteRequest) -> AuthRoleDeleteResponse via auth_role_delete {};
    role_grant_permission(AuthRoleGrantPermissionRequest) -> AuthRoleGrantPermissionResponse
        via auth_role_grant_permission {};
    role_revoke_permission(AuthRoleRevokePermissionRequest) -> AuthRoleRevokePermissionResponse
        via auth_role_revoke_permission {};
}
